package testenv

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"townline/internal/debian"
)

// chromium is where Debian's chromium package puts the browser.
const chromium = "/usr/bin/chromium"

// Browser returns a tab of a headless Chromium for chromedp to drive,
// installing Debian's chromium when it is missing. The browser goes away
// with the test.
func Browser(t testing.TB) context.Context {
	t.Helper()
	if err := debian.Install(context.Background(), Logger(t), "chromium", chromium); err != nil {
		t.Fatalf("the browser tests need Chromium: %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // root, in a container
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancelTab := chromedp.NewContext(alloc, chromedp.WithErrorf(t.Logf))
	t.Cleanup(cancelTab)
	if err := chromedp.Do(ctx); err != nil { // start it now: failures belong here
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// Shots is where browser tests leave their screenshots.
var Shots = filepath.Join(os.TempDir(), "townline-screenshots")

// stepBudget is the longest a step may take on a machine busy with every
// other package's tests too: not a measure of speed.
const stepBudget = 90 * time.Second

// Steps returns how a browser test drives tab: step runs actions and, when
// one fails, fails the test saying where the browser was and what it
// showed; shoot saves a screenshot of the whole page in Shots.
func Steps(t testing.TB, browser, tab context.Context) (step func(what string, actions ...chromedp.Action[chromedp.Void]),
	shoot func(name string) chromedp.Action[chromedp.Void]) {
	if err := os.MkdirAll(Shots, 0o755); err != nil {
		t.Fatal(err)
	}
	step = func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		// A step has its own budget, so a hung one is named while the
		// test's budget still has time to say where the browser was.
		ctx, cancel := context.WithTimeout(tab, stepBudget)
		defer cancel()
		if err := chromedp.Do(ctx, actions...); err != nil {
			look, cancel := context.WithTimeout(browser, 10*time.Second)
			defer cancel()
			url, _ := chromedp.Run(look, chromedp.Location())
			body, _ := chromedp.Run(look, chromedp.Text(chromedp.CSS("body")))
			t.Fatalf("%s: %v\nat %s, showing:\n%s", what, err, url, body)
		}
	}
	shoot = func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			png, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err == nil {
				err = os.WriteFile(filepath.Join(Shots, name), png, 0o644)
			}
			return err
		})
	}
	return step, shoot
}
