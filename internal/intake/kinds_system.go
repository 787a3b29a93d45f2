package intake

// systemKinds lists the formats wired in this file.
func systemKinds() []Kind {
	return nil
}
