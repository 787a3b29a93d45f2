package rules

// All returns every rule. Order does not matter for the result (the
// engine ranks findings) but keeps reports stable.
func All() []*Rule {
	return []*Rule{
		// director
		noVirtualService,
		noAvailableRS,
		vipNotLocal,
		vipOwnedTwice,
		drPortRemap,
		ipForwardOff,
		fnatLaddrNotLocal,
		returnPathMissing,
		directorFirewall,
		conntrackInvalidDrop,
		kernelSuspect,
		testingFromDirector,
		vrrpStrict,
		ipvsUnavailable,
		drRSNotOnLink,
		connReuseDelay,
		staleConnection,
		backupForwardingLoop,
		rpFilterDropsClients,
		healthCheckMismatch,
		configDrift,
		directorConntrackFull,
		keepalivedConfigInvalid,
		// real servers
		rsVIPMissing,
		rsVIPOnPhysical,
		rsARPNotSuppressed,
		rpFilterStrict,
		rsTunnelNotReady,
		rsAppNotListening,
		rsAppBoundWrong,
		rsFirewall,
		rsNATGatewayWrong,
		rsNoReturnRoute,
		rsConntrackFull,
		rsAcceptLocal,
		rsTCPTWRecycle,
		// network, hypervisor, cloud
		nwfilterRule,
		vpcAntispoof,
		bridgeNetfilterDrop,
		arpConflict,
		staleARP,
		vrrpBlocked,
		icmpUnreachable,
		tunnelMTU,
		// packet path
		directorNotForwarding,
		lostInTransitRule,
		rsNotReplying,
		replyLost,
		kernelDropRule,
	}
}
