package intake

// lvsKinds lists the formats wired in this file.
func lvsKinds() []Kind {
	return nil
}
