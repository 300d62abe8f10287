package pgserver

import "syscall"

// setParentDeathSignal makes the kernel send the postmaster SIGINT (fast
// shutdown) when the process that started it dies without calling Stop
// (killed, crashed, test binary timed out), so no server outlives its owner.
// The directory it leaves is removed by the next Start (cleanStale).
func setParentDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGINT }

// setDeathSignal is setParentDeathSignal with another signal, for programs
// whose SIGINT is not a fast shutdown.
func setDeathSignal(a *syscall.SysProcAttr, sig syscall.Signal) { a.Pdeathsig = sig }
