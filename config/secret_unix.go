//go:build unix

package config

import "syscall"

// openFlags opens a FIFO without waiting for a writer; readBounded then
// refuses it as not a regular file.
const openFlags = syscall.O_NONBLOCK | syscall.O_NOCTTY
