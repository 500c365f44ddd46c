package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"townline/core"
	"townline/internal/child"
	"townline/internal/freeport"
)

// weed is $WEED, else the bin/weed make builds in this checkout, else
// weed on PATH.
func weed() (string, error) {
	if bin := os.Getenv("WEED"); bin != "" {
		return bin, nil
	}
	dir, _ := os.Getwd()
	for ; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
		if fileExists(filepath.Join(dir, "go.mod")) {
			if bin := filepath.Join(dir, "bin", "weed"); fileExists(bin) {
				return bin, nil
			}
			break
		}
	}
	return exec.LookPath("weed")
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// S3 starts a SeaweedFS server (weed, under the Apache licence) on
// loopback for the test, with one bucket, and returns how to reach it
// and the bucket's client. The test fails without weed.
func S3(t testing.TB) (core.S3, *minio.Client) {
	t.Helper()
	bin, err := weed()
	if err != nil {
		t.Fatal("weed (SeaweedFS) not found: run make test, which builds it into bin/weed, or set WEED")
	}
	dir := t.TempDir()
	s3 := core.S3{AccessKey: "townline", SecretKey: "townline-test-secret"}
	identities := fmt.Sprintf(`{"identities": [{"name": "townline", "credentials": [{"accessKey": %q, "secretKey": %q}],
		"actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}`, s3.AccessKey, s3.SecretKey)
	if err := os.WriteFile(filepath.Join(dir, "s3.json"), []byte(identities), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"mini", "-dir=" + dir, "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-s3.config=" + filepath.Join(dir, "s3.json"),
		"-webdav=false", "-admin.ui=false", "-master.telemetry=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
		"-master.volumeSizeLimitMB=64"}
	var s3Port int
	for _, name := range []string{"s3.port", "s3.port.grpc", "master.port", "master.port.grpc", "volume.port",
		"volume.port.grpc", "filer.port", "filer.port.grpc"} {
		port, err := freeport.Get()
		if err != nil {
			t.Fatal(err)
		}
		if name == "s3.port" {
			s3Port = port
		}
		args = append(args, "-"+name+"="+strconv.Itoa(port))
	}
	s3.Endpoint = "http://127.0.0.1:" + strconv.Itoa(s3Port)
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	p, err := child.Start(cmd, child.Options{Name: "SeaweedFS", Output: filepath.Join(dir, "weed.out"),
		Stop: []syscall.Signal{syscall.SIGTERM}, StopTimeout: 5 * time.Second, Logger: Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop() })
	client, err := minio.New("127.0.0.1:"+strconv.Itoa(s3Port), &minio.Options{Creds: credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	// Ready when a bucket can be made: the gateway answers and the
	// filer behind it, too.
	err = p.WaitReady(context.Background(), time.Minute, func(ctx context.Context) bool {
		if client.MakeBucket(ctx, "townline", minio.MakeBucketOptions{}) == nil {
			return true
		}
		made, _ := client.BucketExists(ctx, "townline") // made by a try that timed out
		return made
	})
	if err != nil {
		t.Fatalf("start SeaweedFS: %v", err)
	}
	return s3, client
}
