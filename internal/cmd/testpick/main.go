// Command testpick lets make mutate run, for each change it tries, only
// the tests that reach the changed line. gremlins runs a package's whole
// suite for every change: for core, two thousand changes, each that the
// tests miss running all 45 seconds of them. A test that never runs a
// line cannot notice it changed, so the figures are the same, sooner.
//
//	testpick index -o FILE [-run RE] PKGDIR
//
// runs each test of the package alone with coverage and writes which
// lines each reached to FILE.
//
//	testpick go ARGS...
//
// stands in for go on gremlins' PATH (TESTPICK_GO is the real one). A
// "go test" of the indexed package, run in a copy of the module with one
// file changed, gets -run with the tests that reach the changed line;
// every other command runs as it is.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/scanner"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: testpick index -o FILE [-run RE] PKGDIR | testpick go ARGS...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "index":
		err = index(os.Args[2:])
	case "go":
		err = goCommand(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "testpick:", err)
		os.Exit(1)
	}
}

// The index's first line is "PKGPATH PKGDIR"; each other line
// "FILE FIRSTLINE LASTLINE TEST", a block of FILE that TEST ran.

func index(args []string) error {
	fs := flag.NewFlagSet("index", flag.ExitOnError)
	out := fs.String("o", "", "write the index to this file")
	run := fs.String("run", "", "index only the tests matching this expression")
	fs.Parse(args)
	if *out == "" || fs.NArg() != 1 {
		return errors.New("usage: testpick index -o FILE [-run RE] PKGDIR")
	}
	dir := filepath.Clean(fs.Arg(0))
	pkg, err := output(exec.Command("go", "list", "./"+dir))
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "testpick")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "pkg.test")
	build := exec.Command("go", "test", "-c", "-cover", "-covermode=set", "-o", bin, "./"+dir)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building %s's tests: %w", dir, err)
	}
	pattern := *run
	if pattern == "" {
		pattern = "."
	}
	list := exec.Command(bin, "-test.list", pattern)
	list.Dir = dir
	list.Env = append(os.Environ(), "GOCOVERDIR="+tmp) // listing writes no coverage: quiet its warning
	listed, err := output(list)
	if err != nil {
		return err
	}
	var w bytes.Buffer
	fmt.Fprintf(&w, "%s %s\n", pkg, dir)
	n := 0
	for _, test := range strings.Fields(listed) {
		if strings.HasPrefix(test, "Benchmark") {
			continue
		}
		profile := filepath.Join(tmp, "cover.out")
		cmd := exec.Command(bin, "-test.run", "^"+regexp.QuoteMeta(test)+"$", "-test.count=1",
			"-test.coverprofile="+profile)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s failed alone: %w\n%s", test, err, out)
		}
		blocks, err := reached(profile)
		if err != nil {
			return err
		}
		for _, b := range blocks {
			fmt.Fprintf(&w, "%s %d %d %s\n", b.file, b.first, b.last, test)
		}
		n++
	}
	fmt.Fprintf(os.Stderr, "testpick: %d tests of %s indexed\n", n, dir)
	return os.WriteFile(*out, w.Bytes(), 0o644)
}

type block struct {
	file        string
	first, last int
}

// reached reads a coverage profile's blocks that ran, lines such as
// "townline/core/file.go:12.34,15.2 3 1".
func reached(profile string) ([]block, error) {
	f, err := os.Open(profile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var blocks []block
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if strings.HasPrefix(line, "mode:") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 3 || fields[2] == "0" {
			continue
		}
		file, span, ok := strings.Cut(fields[0], ":")
		from, to, ok2 := strings.Cut(span, ",")
		first, err1 := strconv.Atoi(strings.Split(from, ".")[0])
		last, err2 := strconv.Atoi(strings.Split(to, ".")[0])
		if !ok || !ok2 || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s: not a coverage block: %q", profile, line)
		}
		blocks = append(blocks, block{filepath.Base(file), first, last})
	}
	return blocks, s.Err()
}

func goCommand(args []string) error {
	real := os.Getenv("TESTPICK_GO")
	if real == "" {
		return errors.New("TESTPICK_GO is not set")
	}
	if len(args) > 1 && args[0] == "test" {
		tests, err := pick(args[len(args)-1])
		if err != nil {
			// Every test then runs: slower, and the same figure.
			fmt.Fprintln(os.Stderr, "testpick:", err)
		}
		if len(tests) > 0 {
			run := "^(" + strings.Join(tests, "|") + ")$"
			args = slices.Insert(args, len(args)-1, "-run", run)
		}
	}
	return syscall.Exec(real, append([]string{"go"}, args...), os.Environ())
}

// pick names the tests that reach the one line where the package's copy
// in the working directory differs from its source (TESTPICK_SRC), read
// from the index (TESTPICK_INDEX). None when nothing differs: gremlins'
// own coverage run then runs every test, as it must.
func pick(pkg string) ([]string, error) {
	idx, err := os.ReadFile(os.Getenv("TESTPICK_INDEX"))
	if err != nil {
		return nil, err
	}
	head, rest, _ := strings.Cut(string(idx), "\n")
	indexed, dir, _ := strings.Cut(head, " ")
	if pkg != indexed {
		return nil, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	file, line, err := changed(filepath.Join(os.Getenv("TESTPICK_SRC"), dir), filepath.Join(root, dir))
	if err != nil || file == "" {
		return nil, err
	}
	var tests []string
	for _, l := range strings.Split(rest, "\n") {
		var b block
		var test string
		if _, err := fmt.Sscan(l, &b.file, &b.first, &b.last, &test); err != nil {
			continue
		}
		if b.file == file && b.first <= line && line <= b.last && !slices.Contains(tests, test) {
			tests = append(tests, test)
		}
	}
	return tests, nil
}

// moduleRoot finds the module the working directory is in: gremlins runs
// go test in the package's directory of its copy.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// changed finds the first token that differs between a Go file of src
// and the same file of copy, and its line. Tokens, not lines: gremlins
// prints the changed file without gofmt's alignment, on the same lines.
func changed(src, copy string) (string, int, error) {
	files, err := filepath.Glob(filepath.Join(src, "*.go"))
	if err != nil {
		return "", 0, err
	}
	for _, f := range files {
		a, err := os.ReadFile(f)
		if err != nil {
			return "", 0, err
		}
		b, err := os.ReadFile(filepath.Join(copy, filepath.Base(f)))
		if err != nil {
			return "", 0, err
		}
		if bytes.Equal(a, b) {
			continue
		}
		fset := token.NewFileSet()
		var sa, sb scanner.Scanner
		sa.Init(fset.AddFile(f, -1, len(a)), a, nil, 0)
		sb.Init(fset.AddFile(f, -1, len(b)), b, nil, 0)
		for {
			pa, ta, la := sa.Scan()
			_, tb, lb := sb.Scan()
			if ta != tb || la != lb {
				return filepath.Base(f), fset.Position(pa).Line, nil
			}
			if ta == token.EOF {
				break
			}
		}
	}
	return "", 0, nil
}

func output(cmd *exec.Cmd) (string, error) {
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s: %w", strings.Join(cmd.Args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}
