package collector

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// TEMPORARY until proxmox/tasklog lands.
func pbsUPIDStart(s string) (time.Time, error) {
	f := strings.Split(s, ":")
	if len(f) < 9 || f[0] != "UPID" {
		return time.Time{}, errors.New("bad upid")
	}
	v, err := strconv.ParseInt(f[5], 16, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(v, 0), nil
}
