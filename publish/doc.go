// Package publish uploads a staged release to a destination through one
// protocol that every provider follows, so that an interrupted publish is
// invisible and a re-run converges.
//
// This is a first cut: the provider interface ([Store]) is stable; the
// user manual follows with the Publisher.
package publish
