package core

import (
	"context"
	"fmt"

	"townline/core/internal/db"
)

// syncCatalog makes the database's departments and services match the city
// file. Nothing is deleted: requests keep pointing at services the city no
// longer offers, which are only marked inactive.
func (c *Core) syncCatalog(ctx context.Context) error {
	err := c.tx(ctx, func(t *txn) error {
		for _, d := range c.city.Departments {
			if err := t.q.UpsertDepartment(ctx, db.UpsertDepartmentParams{
				Code: d.Code, Name: d.Name, Email: d.Email, Phone: d.Phone,
			}); err != nil {
				return err
			}
		}
		codes := make([]string, 0, len(c.city.Services))
		for _, s := range c.city.Services {
			codes = append(codes, s.Code)
			sla := &s.SLA
			if s.SLA == 0 {
				sla = nil
			}
			if err := t.q.UpsertService(ctx, db.UpsertServiceParams{
				Code: s.Code, Name: s.Name, GroupName: s.Group, Description: s.Description,
				DepartmentCode: s.Department, Sla: sla,
			}); err != nil {
				return err
			}
		}
		return t.q.RetireServices(ctx, codes)
	})
	if err != nil {
		return fmt.Errorf("load the city's services into the database: %w", err)
	}
	return nil
}
