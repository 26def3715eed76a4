package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/term"
)

// bcryptCost is the work factor of hashes for the web config's
// basic_auth_users. It is the cost of the hash exporter-toolkit checks a
// password against when the user name is unknown (web/handler.go, a cost-10
// hash of "fakepassword"): with any other cost, how long a failed login
// takes tells whether the user name exists.
const bcryptCost = 10

// hashPassword reads a password from in and writes its bcrypt hash to out.
// On a terminal it asks twice without echo; from a pipe it reads one line.
func hashPassword(in *os.File, out, prompt io.Writer) error {
	var password []byte
	if fd := int(in.Fd()); term.IsTerminal(fd) {
		fmt.Fprint(prompt, "Password: ")
		p1, err := term.ReadPassword(fd)
		fmt.Fprintln(prompt)
		if err != nil {
			return err
		}
		fmt.Fprint(prompt, "Again: ")
		p2, err := term.ReadPassword(fd)
		fmt.Fprintln(prompt)
		if err != nil {
			return err
		}
		if string(p1) != string(p2) {
			return errors.New("the passwords differ")
		}
		password = p1
	} else {
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		password = []byte(strings.TrimRight(line, "\r\n"))
	}
	if len(password) == 0 {
		return errors.New("empty password")
	}
	if len(password) > 72 {
		return errors.New("password longer than 72 bytes: bcrypt would ignore the rest")
	}
	hash, err := bcrypt.GenerateFromPassword(password, bcryptCost)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, string(hash))
	return err
}
