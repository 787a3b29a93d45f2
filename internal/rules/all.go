package rules

// All returns every rule. Order does not matter for the result (the
// engine ranks findings) but keeps reports stable.
func All() []*Rule {
	return []*Rule{
		nwfilterRule,
		vpcAntispoof,
		fnatLaddrNotLocal,
		kernelSuspect,
		directorFirewall,
		rsFirewall,
		rpFilterStrict,
		returnPathMissing,
		directorNotForwarding,
		lostInTransitRule,
	}
}
