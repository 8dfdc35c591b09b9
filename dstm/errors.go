package dstm

import (
	"context"
	"errors"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrOutcomeUnknown is wrapped by the error Atomically returns when a
// commit's reply was lost and the outcome could not be learnt before the
// resolution timeout: the transaction may or may not have committed, and its
// AfterCommit hooks did not run. Test for it with errors.Is.
var ErrOutcomeUnknown = errors.New("dstm: commit outcome unknown")

// ErrTooManyOps is wrapped by the error Atomically returns when a
// transaction reads or writes more keys than the server accepts in one Txn
// (its --max-txn-ops): raise that limit or split the transaction.
var ErrTooManyOps = errors.New("dstm: transaction has more keys than the server's max-txn-ops")

// isCompacted reports whether err says a revision was compacted away.
func isCompacted(err error) bool {
	return errors.Is(err, rpctypes.ErrCompacted) || rpctypes.ErrorDesc(err) == rpctypes.ErrorDesc(rpctypes.ErrGRPCCompacted)
}

// isFutureRev reports whether err says the member has not yet applied the
// revision asked for (a lagging follower, or one catching up after a leader
// change).
func isFutureRev(err error) bool {
	return errors.Is(err, rpctypes.ErrFutureRev) || rpctypes.ErrorDesc(err) == rpctypes.ErrorDesc(rpctypes.ErrGRPCFutureRev)
}

// isLeaseNotFound reports whether err says the lease of a put no longer
// exists: the request was rejected, so nothing was applied.
func isLeaseNotFound(err error) bool {
	return errors.Is(err, rpctypes.ErrLeaseNotFound) || rpctypes.ErrorDesc(err) == rpctypes.ErrorDesc(rpctypes.ErrGRPCLeaseNotFound)
}

// isTooManyOps reports whether err says a Txn exceeded max-txn-ops.
func isTooManyOps(err error) bool {
	return errors.Is(err, rpctypes.ErrTooManyOps) || rpctypes.ErrorDesc(err) == rpctypes.ErrorDesc(rpctypes.ErrGRPCTooManyOps)
}

// isPermanent reports whether err is a rejection that repeating the
// request cannot cure (a malformed or oversized request, a missing
// permission, a full database). Every other failure (no leader, a lost
// connection, a timeout, "future revision") is worth retrying, and for a
// commit it leaves the outcome to be resolved.
func isPermanent(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	switch status.Code(err) {
	case codes.InvalidArgument, codes.PermissionDenied, codes.Unauthenticated, codes.DataLoss:
		return true
	}
	return rpctypes.ErrorDesc(err) == rpctypes.ErrorDesc(rpctypes.ErrGRPCNoSpace)
}
