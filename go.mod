module gostm.dev

go 1.25

require (
	github.com/alphadose/haxmap v1.4.0 // indirect
	github.com/anacrolix/stm v0.2.0 // indirect
	github.com/anishathalye/porcupine v1.3.1 // indirect
	github.com/leanovate/gopter v0.2.11 // indirect
	github.com/orcaman/concurrent-map/v2 v2.0.1 // indirect
	github.com/puzpuzpuz/xsync/v4 v4.5.0 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	go.uber.org/goleak v1.3.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/exp v0.0.0-20221031165847-c99f073a8326 // indirect
)
