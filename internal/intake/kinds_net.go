package intake

// netKinds lists the formats wired in this file.
func netKinds() []Kind {
	return nil
}
