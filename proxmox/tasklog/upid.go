// Package tasklog reads Proxmox task ids (UPIDs), task states and vzdump
// task logs.
package tasklog

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// UPID is a decoded task id.
type UPID struct {
	Node      string
	PID       uint64
	PStart    uint64
	TaskID    uint64 // PBS only
	StartTime time.Time
	Type      string
	ID        string // PBS worker ids are unescaped
	User      string
}

// ParsePVEUPID reads UPID:node:pid:pstart:starttime:type:id:user: .
func ParsePVEUPID(s string) (UPID, error) {
	f, err := split(s, 9)
	if err != nil {
		return UPID{}, err
	}
	u := UPID{Node: f[1], Type: f[5], ID: f[6], User: f[7]}
	if u.PID, err = hexField(s, "pid", f[2], 8, 8); err == nil {
		if u.PStart, err = hexField(s, "pstart", f[3], 8, 9); err == nil {
			var st uint64
			if st, err = hexField(s, "starttime", f[4], 8, 8); err == nil {
				u.StartTime = time.Unix(int64(st), 0)
			}
		}
	}
	if err != nil {
		return UPID{}, err
	}
	return u, nil
}

// ParsePBSUPID reads UPID:node:pid:pstart:task_id:starttime:type:id:user:
// and unescapes the systemd-escaped worker id.
func ParsePBSUPID(s string) (UPID, error) {
	f, err := split(s, 10)
	if err != nil {
		return UPID{}, err
	}
	u := UPID{Node: f[1], Type: f[6], User: f[8]}
	if u.ID, err = unescape(f[7]); err != nil {
		return UPID{}, fmt.Errorf("UPID %q: worker id: %v", s, err)
	}
	if u.PID, err = hexField(s, "pid", f[2], 8, 8); err == nil {
		if u.PStart, err = hexField(s, "pstart", f[3], 8, 9); err == nil {
			if u.TaskID, err = hexField(s, "task id", f[4], 8, 16); err == nil {
				var st uint64
				if st, err = hexField(s, "starttime", f[5], 8, 8); err == nil {
					u.StartTime = time.Unix(int64(st), 0)
				}
			}
		}
	}
	if err != nil {
		return UPID{}, err
	}
	return u, nil
}

// ParseUPID reads either format, telling them apart by their field count.
func ParseUPID(s string) (UPID, error) {
	if strings.Count(s, ":") == 9 {
		return ParsePBSUPID(s)
	}
	return ParsePVEUPID(s)
}

func split(s string, n int) ([]string, error) {
	if len(s) > 512 {
		return nil, fmt.Errorf("UPID too long (%d bytes)", len(s))
	}
	f := strings.Split(s, ":")
	if len(f) != n || f[0] != "UPID" || f[n-1] != "" {
		return nil, fmt.Errorf("%q is not a UPID with %d fields", s, n-2)
	}
	return f, nil
}

func hexField(upid, name, v string, minDigits, maxDigits int) (uint64, error) {
	if len(v) < minDigits || len(v) > maxDigits {
		return 0, fmt.Errorf("UPID %q: %s %q is not %d to %d hex digits", upid, name, v, minDigits, maxDigits)
	}
	n, err := strconv.ParseUint(v, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("UPID %q: %s %q is not hexadecimal", upid, name, v)
	}
	return n, nil
}

// unescape undoes systemd escaping: "-" is "/", "\xNN" a byte.
func unescape(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '-':
			b.WriteByte('/')
		case c == '\\':
			if i+3 >= len(s) || s[i+1] != 'x' {
				return "", fmt.Errorf("bad escape at byte %d", i)
			}
			v, err := strconv.ParseUint(s[i+2:i+4], 16, 8)
			if err != nil {
				return "", fmt.Errorf("bad escape at byte %d", i)
			}
			b.WriteByte(byte(v))
			i += 3
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// StatusIsError interprets a finished task's status as PVE::UPID does: "OK"
// and "WARNINGS: N" are successes, everything else is a failure.
func StatusIsError(status string) bool {
	return status != "OK" && !strings.HasPrefix(status, "WARNINGS: ")
}
