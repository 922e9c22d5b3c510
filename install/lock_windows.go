//go:build windows

package install

import (
	"errors"
	"syscall"
)

// processAlive reports whether a process with pid is running. A process
// that has exited but whose object is still held open by some handle
// (its parent's, say) opens fine, so opening it is not enough: it is alive
// only while waiting on it would block. A process this user may not open
// (another user's installer) counts as alive, so its lock is kept until it
// is stale by age.
func processAlive(pid int) bool {
	const processQueryLimitedInformation = 0x1000
	h, err := syscall.OpenProcess(processQueryLimitedInformation|syscall.SYNCHRONIZE, false, uint32(pid))
	if err != nil {
		return errors.Is(err, syscall.ERROR_ACCESS_DENIED)
	}
	defer syscall.CloseHandle(h)
	ev, err := syscall.WaitForSingleObject(h, 0)
	if err != nil {
		return true // cannot tell: keep the lock
	}
	return ev == uint32(syscall.WAIT_TIMEOUT)
}
