package intake

// firewallKinds lists the formats wired in this file.
func firewallKinds() []Kind {
	return nil
}
