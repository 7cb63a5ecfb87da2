package imapwatch

// SetIdleHook makes the watcher call f each time an IDLE has started, so a
// test knows the watcher is waiting on the server.
func SetIdleHook(w *Watcher, f func()) { w.idleHook = f }

// DisableIdle makes the watcher poll even where the server offers IDLE.
func DisableIdle(w *Watcher) { w.noIdle = true }
