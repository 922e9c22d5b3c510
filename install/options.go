package install

// A CallOption changes one call of [Installer.Check], [Installer.Install]
// or [Installer.Rollback] and no other: the Installer keeps no trace of
// it, so the next call without the option gets the default again. Each
// option turns on one switch, so the order options are passed in does
// not matter, and passing one twice is the same as passing it once. An
// option that does not concern a call (Reinstall for Rollback) is
// ignored by it.
//
// Pass Check the options you will pass Install: its answer
// ([Update.Available]) is then what that Install would do.
type CallOption func(*call)

// call is the policy of one Check, Install or Rollback, built from its
// options; the zero value is the default of every option.
type call struct {
	allowDowngrade bool
	reinstall      bool
	allowManaged   bool
}

// newCall applies opts to the default policy.
func newCall(opts []CallOption) call {
	var c call
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// AllowDowngrade lets Install put an older version in place of a newer
// one, and makes Check report such a downgrade as available. Default: a
// downgrade is a *[DowngradeError], and Check reports it with
// [Update.Downgrade] set and Available false.
func AllowDowngrade() CallOption { return func(c *call) { c.allowDowngrade = true } }

// Reinstall makes Install replace the binaries even when the selected
// version is already installed, and Check report that version as
// available. Default: Install leaves an installed version whose receipt
// names the same artifact as it is (Result.Changed false).
func Reinstall() CallOption { return func(c *call) { c.reinstall = true } }

// AllowManaged lets Install and Rollback replace a binary that a package
// manager owns (dpkg, rpm, a Homebrew Cellar or Caskroom, Scoop) or that
// `go install` put in GOBIN or GOPATH/bin, and drops Check's warning
// about it. Default: Install and Rollback fail with a *[ManagedError]
// naming the command to run instead ("sudo apt upgrade hello", "brew
// upgrade hello"), and Check warns with the same command.
func AllowManaged() CallOption { return func(c *call) { c.allowManaged = true } }
