package main

import "github.com/csp/trigger/casefile"

// who is a person with every role a person can have, for tests that drive
// the store directly to set a case up.
func who(id string) casefile.Actor {
	return casefile.Actor{ID: id, Roles: []casefile.Role{casefile.RoleCoordinator, casefile.RoleChair, casefile.RoleApprover}}
}
