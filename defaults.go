package pacer

// number is what positiveOr accepts: the option fields that default when
// unset.
type number interface {
	~int | ~int64 | ~float64
}

// positiveOr returns v when it is set (positive), else def: options read
// zero or a negative value as "use the default".
func positiveOr[T number](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}
