using SharpMM.Paging;

namespace SharpMM.Hosted.Machine;

/// <summary>What the MMU did: page faults by cause, by access kind and by privilege, #GPs, walks,
/// and what the fault handler answered.</summary>
public sealed class MmuCounters
{
    internal long _pageFaults, _notPresent, _protection, _reservedBit;
    internal long _readFaults, _writeFaults, _fetchFaults, _userFaults, _supervisorFaults;
    internal long _generalProtection, _walks, _handlerCalls, _handlerRetries, _handlerFailures, _retryLimit;
    private readonly Mmu _mmu;
    private long _fastWalksAtReset;

    internal MmuCounters(Mmu mmu) => _mmu = mmu;

    /// <summary>Page faults delivered (CR2 set).</summary>
    public long PageFaults => _pageFaults;
    /// <summary>Faults with P = 0 in the error code.</summary>
    public long NotPresent => _notPresent;
    /// <summary>Faults with P = 1 and RSVD = 0: rights did not allow the access.</summary>
    public long Protection => _protection;
    /// <summary>Faults with RSVD = 1.</summary>
    public long ReservedBit => _reservedBit;
    /// <summary>Faults on data reads.</summary>
    public long ReadFaults => _readFaults;
    /// <summary>Faults on writes.</summary>
    public long WriteFaults => _writeFaults;
    /// <summary>Faults on instruction fetches.</summary>
    public long FetchFaults => _fetchFaults;
    /// <summary>Faults on user-mode accesses.</summary>
    public long UserFaults => _userFaults;
    /// <summary>Faults on supervisor-mode accesses.</summary>
    public long SupervisorFaults => _supervisorFaults;
    /// <summary>General-protection results (non-canonical or too-wide addresses).</summary>
    public long GeneralProtection => _generalProtection;
    /// <summary>Page-table walks that filled (or tried to fill) the TLB.</summary>
    public long Walks => _walks + (_mmu._fastFills - _fastWalksAtReset);
    /// <summary>Calls of the fault handler.</summary>
    public long HandlerCalls => _handlerCalls;
    /// <summary>Handler answers Retry.</summary>
    public long HandlerRetries => _handlerRetries;
    /// <summary>Handler answers Fail.</summary>
    public long HandlerFailures => _handlerFailures;
    /// <summary>Accesses abandoned because the handler kept answering Retry.</summary>
    public long RetryLimitExceeded => _retryLimit;

    internal void CountFault(PageFaultErrorCode code, AccessKind access, Privilege privilege)
    {
        _pageFaults++;
        if ((code & PageFaultErrorCode.ProtectionViolation) == 0) _notPresent++;
        else if ((code & PageFaultErrorCode.ReservedBit) != 0) _reservedBit++;
        else _protection++;
        if (access == AccessKind.Read) _readFaults++;
        else if (access == AccessKind.Write) _writeFaults++;
        else _fetchFaults++;
        if (privilege == Privilege.User) _userFaults++; else _supervisorFaults++;
    }

    /// <summary>Zeroes every counter.</summary>
    public void Reset()
    {
        _pageFaults = _notPresent = _protection = _reservedBit = 0;
        _readFaults = _writeFaults = _fetchFaults = _userFaults = _supervisorFaults = 0;
        _generalProtection = _walks = _handlerCalls = _handlerRetries = _handlerFailures = _retryLimit = 0;
        _fastWalksAtReset = _mmu._fastFills;
    }
}
