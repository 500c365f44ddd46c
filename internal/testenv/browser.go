package testenv

import (
	"context"
	"testing"

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
