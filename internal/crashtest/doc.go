// Package crashtest holds only tests: `townline serve`, built from this
// tree, is killed with SIGKILL, stopped with SIGTERM and has its
// PostgreSQL restarted, each under load from signed Twilio webhooks and
// Open311 clients; each test then checks that nothing accepted was lost,
// nothing was sent twice and nothing was left unsent.
//
// A failure quotes what the server logged about each message concerned.
// With CRASHTEST_DUMP set to a folder, each test writes the servers'
// whole log there as TestName.log.
package crashtest
