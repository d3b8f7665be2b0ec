package pacer

import (
	_ "github.com/stretchr/testify/require"
	_ "go.uber.org/goleak"
)
