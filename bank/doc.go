// Package bank is the bank-account race in every synchronisation style, run and checked by machine.
//
// A [Bank] holds a fixed number of accounts and offers Transfer, Withdraw,
// Deposit and Audit. [New] builds one in a [Mode]: three negative controls
// (unsync, atomic, lock-naive) that lose money, show money in flight or
// deadlock, and four correct styles (lock-ordered, global-lock, channel,
// stm). [Run] drives a bank with random transfers and whole-bank audits
// from several workers and returns a [Report] whose checks (B1 conservation,
// B2 audit consistency, B3 no negative balance, B4 per-account ledger, B5
// progress) each carry their first counterexample.
//
// [STMBank] also exposes its operations as pieces of a transaction, so they
// compose: a withdrawal that blocks until funds arrive, a withdrawal from
// one account or else another, a batch of transfers that commits all or
// nothing, a transfer built from an existing withdraw and deposit.
//
// The package never prints; the stmbench command renders its reports.
package bank
