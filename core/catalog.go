package core

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// syncCatalog makes the database's departments and services match the city
// file. Nothing is deleted: requests keep pointing at services the city no
// longer offers, which are only marked inactive.
func (c *Core) syncCatalog(ctx context.Context) error {
	err := c.tx(ctx, func(tx pgx.Tx) error {
		for _, d := range c.city.Departments {
			if _, err := tx.Exec(ctx, `
				INSERT INTO departments (code, name, email, phone) VALUES ($1, $2, $3, $4)
				ON CONFLICT (code) DO UPDATE SET name = $2, email = $3, phone = $4`,
				d.Code, d.Name, d.Email, d.Phone); err != nil {
				return err
			}
		}
		codes := make([]string, 0, len(c.city.Services))
		for _, s := range c.city.Services {
			codes = append(codes, s.Code)
			if _, err := tx.Exec(ctx, `
				INSERT INTO services (code, name, group_name, description, department_code, sla, active)
				VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6, true)
				ON CONFLICT (code) DO UPDATE SET name = $2, group_name = $3, description = $4,
					department_code = NULLIF($5, ''), sla = $6, active = true`,
				s.Code, s.Name, s.Group, s.Description, s.Department, s.SLA); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `UPDATE services SET active = false WHERE NOT (code = ANY($1))`, codes)
		return err
	})
	if err != nil {
		return fmt.Errorf("load the city's services into the database: %w", err)
	}
	return nil
}
