// Package freeport finds an unused loopback TCP port for a server that
// townline starts itself (the private PostgreSQL, the test Dovecot, the
// benchmarked server).
package freeport

import (
	"fmt"
	"net"
)

// Get asks the kernel for an unused port on 127.0.0.1. Another process may
// take it before the caller binds it; callers that can, retry.
func Get() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("cannot find a free TCP port on 127.0.0.1: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
