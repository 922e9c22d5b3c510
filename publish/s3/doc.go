// Package s3 publishes releases to Amazon S3 and S3-compatible stores.
package s3
