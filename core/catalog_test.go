package core_test

import (
	"context"
	"testing"

	"townline/core"
	"townline/internal/testenv"
)

// The database's departments and services follow the city file each time
// a core starts: changed ones changed, new ones added, a service the city
// no longer offers kept (requests point at it) but inactive.
func TestCatalogFollowsTheCityFile(t *testing.T) {
	t.Parallel()
	pool := testenv.Pool(t)
	testenv.CoreOn(t, pool)
	testenv.CoreOn(t, pool, func(o *core.Options) {
		city := o.City // read for this core alone
		city.Departments = append(city.Departments, core.Department{Code: "streets", Name: "Streets Division", Email: "streets@oroville.test"})
		var services []core.Service
		for _, s := range city.Services {
			switch s.Code {
			case "park":
				continue // no longer offered
			case "pothole":
				s.Name, s.Department, s.SLA = "Pothole or sinkhole", "streets", 0
			}
			services = append(services, s)
		}
		city.Services = services
	})
	ctx := context.Background()
	var name, dept string
	var sla *string
	var active bool
	if err := pool.QueryRow(ctx, `SELECT name, department_code, sla::text, active FROM services WHERE code = 'pothole'`).
		Scan(&name, &dept, &sla, &active); err != nil {
		t.Fatal(err)
	}
	if name != "Pothole or sinkhole" || dept != "streets" || sla != nil || !active {
		t.Errorf("the pothole service: %q in %q, due %v, active %v", name, dept, sla, active)
	}
	if err := pool.QueryRow(ctx, `SELECT name FROM departments WHERE code = 'streets'`).Scan(&name); err != nil || name != "Streets Division" {
		t.Errorf("the new department: %q %v", name, err)
	}
	if err := pool.QueryRow(ctx, `SELECT active FROM services WHERE code = 'park'`).Scan(&active); err != nil || active {
		t.Errorf("the service no longer offered: active %v, %v", active, err)
	}
	if err := pool.QueryRow(ctx, `SELECT sla::text, active FROM services WHERE code = 'tree'`).Scan(&sla, &active); err != nil ||
		sla == nil || !active {
		t.Errorf("a service unchanged: due %v, active %v, %v", sla, active, err)
	}
}
