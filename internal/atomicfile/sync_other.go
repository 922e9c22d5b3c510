package atomicfile

import (
	"errors"
	"os"
	"runtime"
)

func isUnsupported(err error) bool {
	return runtime.GOOS == "windows" || errors.Is(err, os.ErrInvalid)
}
