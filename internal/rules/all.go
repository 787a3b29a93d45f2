package rules

// All returns every rule. Order does not matter for the result (the
// engine ranks findings) but keeps reports stable.
func All() []*Rule {
	return []*Rule{
		// director
		directorNoVirtualService,
		directorNoAvailableRealserver,
		directorVIPNotLocal,
		directorVIPOwnedTwice,
		directorDRPortRemap,
		directorIPForwardOff,
		directorFNATNoLocalAddress,
		directorFNATLocalAddressNotLocal,
		directorReturnPathMissing,
		directorFirewallDropsVIP,
		directorConntrackInvalidDrop,
		directorKernelSuspect,
		directorTestingFromDirector,
		keepalivedVRRPStrict,
		directorIPVSUnavailable,
		directorDRRSNotOnLink,
		directorConnReuseDelay,
		directorStaleConnection,
		directorBackupForwardingLoop,
		directorRPFilterDropsClients,
		directorHealthCheckMismatch,
		directorConfigDrift,
		directorIPVSTableFlushed,
		directorNoConnectionSync,
		directorIdleTimeout,
		directorConntrackTableFull,
		keepalivedConfigInvalid,
		// real servers
		rsVIPMissing,
		rsVIPOnPhysicalInterface,
		rsARPNotSuppressed,
		rsRPFilterStrict,
		rsTunnelNotReady,
		rsAppNotListening,
		rsAppBoundWrongAddress,
		rsFirewallDropsVIP,
		rsNATGatewayWrong,
		rsNoReturnRoute,
		rsConntrackTableFull,
		rsAcceptLocal,
		rsTCPTWRecycle,
		// network, hypervisor, cloud
		hypervisorNwfilterNoIPSpoofing,
		netVPCAntispoof,
		hypervisorBridgeNetfilterDrop,
		netARPConflict,
		netStaleARP,
		netVRRPBlocked,
		netVRIDConflict,
		netICMPUnreachable,
		netTunnelMTU,
		// packet path
		traceDirectorNotForwarding,
		traceLostInTransit,
		traceRSNotReplying,
		traceReplyLost,
		kernelDrop,
		// peers compared
		peerDiffers,
	}
}
