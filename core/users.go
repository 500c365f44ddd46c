package core

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/argon2"
)

// Roles a staff account can have.
var Roles = []string{"admin", "dispatcher", "staff"}

// User is a staff account of the inbox.
type User struct {
	ID          int64
	Email       string
	Name        string
	Role        string   // admin, dispatcher or staff
	Departments []string // a staff member's departments; dispatchers and admins see every one
}

// AddUser creates a staff account with an argon2id password hash, in
// (at most) one department: the command line's way to AddAccount.
func (c *Core) AddUser(ctx context.Context, email, role, department, password string) (User, error) {
	var departments []string
	if department != "" {
		departments = []string{department}
	}
	return c.AddAccount(ctx, NewAccount{Email: email, Role: role, Departments: departments, Password: password}, CommandLine)
}

// Authenticate checks a staff member's email and password.
func (c *Core) Authenticate(ctx context.Context, email, password string) (User, error) {
	if err := c.checkField("email", email, 320); err != nil {
		return User{}, err
	}
	row, err := c.q.ActiveUserByEmail(ctx, strings.TrimSpace(email))
	if errors.Is(err, pgx.ErrNoRows) {
		hashPassword(password) // same work whether or not the account exists
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, dbErr(err)
	}
	if !checkPassword(row.PasswordHash, password) {
		return User{}, ErrNotFound
	}
	return User{ID: row.ID, Email: row.Email, Name: row.Name, Role: row.Role, Departments: row.Departments}, nil
}

// argon2id parameters: RFC 9106's second recommended option.
const (
	argonTime    = 3
	argonMemory  = 64 * 1024
	argonThreads = 2
	argonKeyLen  = 32
)

func hashPassword(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime,
		argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

func checkPassword(encoded, password string) bool {
	var version, memory, iterations int
	var threads uint8
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &iterations, &threads); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, uint32(iterations), uint32(memory), threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// GeneratePassword returns a random password for a new account.
func GeneratePassword() string { return rand.Text() }

// AddAPIKey creates an Open311 API key for a client and returns the key:
// the command line's way to CreateAPIKey.
func (c *Core) AddAPIKey(ctx context.Context, name string) (string, error) {
	return c.CreateAPIKey(ctx, name, CommandLine)
}

// apiKeyTTL is how long a checked key is trusted without asking the
// database again: a busy client costs no query per request, and a revoked
// key stops working within the minute.
const apiKeyTTL = time.Minute

type cachedKey struct {
	name    string
	expires time.Time
}

// CheckAPIKey returns the name of the client an API key belongs to, or
// ErrNotFound for an unknown or revoked key.
func (c *Core) CheckAPIKey(ctx context.Context, key string) (string, error) {
	sum := sha256.Sum256([]byte(key))
	if v, ok := c.apiKeys.Load(sum); ok && time.Now().Before(v.(cachedKey).expires) {
		return v.(cachedKey).name, nil
	}
	name, err := c.q.APIKeyName(ctx, sum[:])
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", dbErr(err)
	}
	c.apiKeys.Store(sum, cachedKey{name: name, expires: time.Now().Add(apiKeyTTL)})
	return name, nil
}
