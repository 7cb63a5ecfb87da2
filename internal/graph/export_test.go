package graph

import "strings"

// Waiting is the number of requests waiting for one of the mailbox's
// slots, for tests that prove the cap.
func Waiting(c *Client, mailbox string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.waiting[strings.ToLower(mailbox)]
}
