// Package flags is checked with -deny=example.com/flags.Send*,example.com/flags.Mailer.*
// and -allow=time.Sleep.
package flags

import (
	"time"

	"gostm.dev/stm"
)

type Mailer struct{}

func (Mailer) Deliver(string) {}

func SendMail(string)          {}
func Sanitize(s string) string { return s }

func notify(m Mailer) error {
	return stm.Atomically(func(tx *stm.Tx) error {
		SendMail("x")  // want `flags.SendMail inside a transaction body`
		m.Deliver("x") // want `flags.Mailer.Deliver inside a transaction body`
		_ = Sanitize("x")
		time.Sleep(time.Millisecond) // allowed by -allow
		return nil
	})
}
