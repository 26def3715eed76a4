// Command mutate is the project's mutation check: it plants one small,
// realistic fault at a time in the code that decides what users see (a
// flipped comparison, a dropped condition, a changed constant, a negated
// branch) and runs the package's tests against it. A mutant the tests do
// not notice is a place where the code can be wrong and the suite stays
// green. The source tree is never written: each mutant reaches the
// compiler through go test -overlay.
//
//	go run ./cmd/mutate [-max N] [-seed S] [-timeout D] [-only RE] ./proxmox/calendar ./collector ...
//
// The sample depends on the seed and on the package's mutants only, so a
// run with the same -seed and -max after adding tests meets the same
// mutants; -only then reruns just the previous survivors.
//
// make mutation runs it over the decision code; docs/testing.md keeps the
// last figures and the survivors judged equivalent.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/build"
	"go/format"
	"go/parser"
	"go/token"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// mutant is one planted fault: where it is, what it does, and how to apply
// it to the parsed file and undo it again.
type mutant struct {
	file  string
	pos   token.Position
	what  string
	apply func()
	undo  func()
}

var flips = map[token.Token]token.Token{
	token.LSS: token.LEQ, token.LEQ: token.LSS,
	token.GTR: token.GEQ, token.GEQ: token.GTR,
	token.EQL: token.NEQ, token.NEQ: token.EQL,
	token.LAND: token.LOR, token.LOR: token.LAND,
}

// mutants lists the faults that can be planted in one file.
func mutants(fset *token.FileSet, path string, f *ast.File) []mutant {
	var out []mutant
	add := func(n ast.Node, what string, apply, undo func()) {
		out = append(out, mutant{file: path, pos: fset.Position(n.Pos()), what: what, apply: apply, undo: undo})
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.BinaryExpr:
			if to, ok := flips[n.Op]; ok {
				from := n.Op
				add(n, fmt.Sprintf("%s -> %s", from, to), func() { n.Op = to }, func() { n.Op = from })
			}
			if n.Op == token.LAND || n.Op == token.LOR {
				// Drop one side of the condition: keep only the other.
				x, y := n.X, n.Y
				add(n.Y, "drop right operand of "+n.Op.String(), func() { n.Y = ast.NewIdent(identity(n.Op)) }, func() { n.Y = y })
				add(n.X, "drop left operand of "+n.Op.String(), func() { n.X = ast.NewIdent(identity(n.Op)) }, func() { n.X = x })
			}
		case *ast.IfStmt:
			cond := n.Cond
			add(n, "negate if condition", func() { n.Cond = &ast.UnaryExpr{Op: token.NOT, X: &ast.ParenExpr{X: cond}} }, func() { n.Cond = cond })
		case *ast.BasicLit:
			if n.Kind != token.INT {
				return true
			}
			v, err := strconv.ParseInt(n.Value, 0, 64)
			if err != nil {
				return true
			}
			old := n.Value
			repl := strconv.FormatInt(v+1, 10)
			if v == 1 {
				repl = "0"
			}
			add(n, fmt.Sprintf("constant %s -> %s", old, repl), func() { n.Value = repl }, func() { n.Value = old })
		}
		return true
	})
	return out
}

// identity is the operand that makes an && or || depend on its other side
// alone.
func identity(op token.Token) string {
	if op == token.LAND {
		return "true"
	}
	return "false"
}

// onlyRE, when set, keeps the sampled mutants it matches.
var onlyRE *regexp.Regexp

type result struct {
	m       mutant
	killed  bool
	invalid bool // the mutant does not compile: it counts neither way
	note    string
}

func main() {
	max := flag.Int("max", 40, "mutants to run per package (a random sample when there are more; 0: all)")
	seed := flag.Uint64("seed", 1, "seed of the sample")
	timeout := flag.Duration("timeout", 3*time.Minute, "a mutant whose tests run longer counts as killed (a hang)")
	also := flag.String("also", "", "comma-separated packages whose tests also run against each mutant, for code whose tests live elsewhere (the verdict's agreement with the alerts is tested in ./exporter)")
	list := flag.Bool("list", false, "print the sampled mutants (after -only) without running any test")
	only := flag.String("only", "", "of the sample, run only the mutants whose line (path:line: what, as printed) matches this regular expression: rerun a previous run's survivors after adding tests")
	flag.Parse()
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			fmt.Fprintln(os.Stderr, "mutate: -only:", err)
			os.Exit(2)
		}
		onlyRE = re
	}
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: mutate [-max N] [-seed S] [-timeout D] [-only RE] PACKAGE_DIR...")
		os.Exit(2)
	}
	var all []result
	for _, dir := range flag.Args() {
		if *list {
			ms, _, _, err := sample(dir, *max, *seed)
			if err != nil {
				fmt.Fprintf(os.Stderr, "mutate: %s: %v\n", dir, err)
				os.Exit(1)
			}
			for _, m := range ms {
				fmt.Printf("%s:%d: %s\n", relPath(m.file), m.pos.Line, m.what)
			}
			continue
		}
		rs, err := runPackage(dir, extraPackages(*also), *max, *seed, *timeout)
		if err != nil {
			fmt.Fprintf(os.Stderr, "mutate: %s: %v\n", dir, err)
			os.Exit(1)
		}
		all = append(all, rs...)
	}
	if *list {
		return
	}
	killed, valid := 0, 0
	for _, r := range all {
		if r.invalid {
			continue
		}
		valid++
		if r.killed {
			killed++
		}
	}
	fmt.Printf("\n%d of %d mutants killed (%.1f%%); %d did not compile and do not count\n",
		killed, valid, 100*float64(killed)/float64(max1(valid)), len(all)-valid)
	fmt.Println("survivors:")
	for _, r := range all {
		if !r.killed && !r.invalid {
			fmt.Printf("  %s:%d: %s\n", relPath(r.m.pos.Filename), r.m.pos.Line, r.m.what)
		}
	}
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

// sample parses one package's non-test files and returns the sampled
// mutants (after -only), with the file set and parsed files they apply to.
func sample(dir string, max int, seed uint64) ([]mutant, *token.FileSet, map[string]*ast.File, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, nil, nil, err
	}
	sort.Strings(files)
	fset := token.NewFileSet()
	parsed := map[string]*ast.File{}
	var ms []mutant
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		// A file the build leaves out (secret_other.go on a unix host)
		// cannot be reached by any test: its mutants would survive for
		// nothing.
		if ok, err := build.Default.MatchFile(filepath.Dir(path), filepath.Base(path)); err != nil {
			return nil, nil, nil, err
		} else if !ok {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return nil, nil, nil, err
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, nil, nil, err
		}
		parsed[abs] = f
		ms = append(ms, mutants(fset, abs, f)...)
	}
	if max > 0 && len(ms) > max {
		r := rand.New(rand.NewPCG(seed, uint64(len(ms))))
		r.Shuffle(len(ms), func(i, j int) { ms[i], ms[j] = ms[j], ms[i] })
		ms = ms[:max]
		sort.Slice(ms, func(i, j int) bool {
			if ms[i].file != ms[j].file {
				return ms[i].file < ms[j].file
			}
			return ms[i].pos.Offset < ms[j].pos.Offset
		})
	}
	if onlyRE != nil {
		kept := ms[:0]
		for _, m := range ms {
			if onlyRE.MatchString(fmt.Sprintf("%s:%d: %s", relPath(m.file), m.pos.Line, m.what)) {
				kept = append(kept, m)
			}
		}
		ms = kept
	}
	return ms, fset, parsed, nil
}

// runPackage plants the sampled mutants of one package's non-test files
// and runs the package's tests against each.
func runPackage(dir string, also []string, max int, seed uint64, timeout time.Duration) ([]result, error) {
	ms, fset, parsed, err := sample(dir, max, seed)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "mutate")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	var out []result
	for i, m := range ms {
		m.apply()
		var buf bytes.Buffer
		err := format.Node(&buf, fset, parsed[m.file])
		m.undo()
		if err != nil {
			out = append(out, result{m: m, invalid: true, note: " (does not print)"})
			continue
		}
		mutated := filepath.Join(tmp, fmt.Sprintf("m%d.go", i))
		if err := os.WriteFile(mutated, buf.Bytes(), 0o600); err != nil {
			return nil, err
		}
		overlay := filepath.Join(tmp, fmt.Sprintf("m%d.json", i))
		ov, _ := json.Marshal(map[string]map[string]string{"Replace": {m.file: mutated}})
		if err := os.WriteFile(overlay, ov, 0o600); err != nil {
			return nil, err
		}
		r := runTests(append([]string{dir}, also...), overlay, timeout)
		r.m = m
		out = append(out, r)
		mark := "killed"
		switch {
		case r.invalid:
			mark = "invalid"
		case !r.killed:
			mark = "SURVIVED"
		}
		fmt.Printf("%-8s %s:%d: %s%s\n", mark, relPath(m.file), m.pos.Line, m.what, r.note)
	}
	return out, nil
}

// relPath is path relative to the working directory when it can be.
func relPath(path string) string {
	if wd, err := os.Getwd(); err == nil {
		if r, err := filepath.Rel(wd, path); err == nil {
			return r
		}
	}
	return path
}

// extraPackages splits the -also list.
func extraPackages(list string) []string {
	var out []string
	for _, p := range strings.Split(list, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// runTests runs the packages' tests against an overlay. A mutant that
// fails a test or hangs is killed; one that does not compile is invalid.
// The timeout bounds the test binary alone (go test -timeout): on a loaded
// machine the compile can take minutes, and a slow build is not a kill.
func runTests(dirs []string, overlay string, timeout time.Duration) result {
	ctx, cancel := context.WithTimeout(context.Background(), timeout+20*time.Minute)
	defer cancel()
	args := []string{"test", "-count=1", "-failfast", "-timeout=" + timeout.String(), "-overlay=" + overlay}
	for _, pkg := range dirs {
		if !strings.HasPrefix(pkg, ".") && !filepath.IsAbs(pkg) {
			pkg = "./" + pkg
		}
		args = append(args, pkg)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	out, err := cmd.CombinedOutput()
	switch {
	case ctx.Err() != nil:
		return result{killed: true, note: " (hang)"}
	case err == nil:
		return result{}
	case bytes.Contains(out, []byte("panic: test timed out")):
		return result{killed: true, note: " (hang)"}
	case bytes.Contains(out, []byte("[build failed]")) || bytes.Contains(out, []byte("setup failed")):
		return result{invalid: true, note: " (does not compile)"}
	default:
		return result{killed: true}
	}
}
