using SharpMM.Paging;
using SharpMM.Paging.X86;
using SharpMM.User;

namespace SharpMM.Kernel;

/// <summary>
/// Routes page faults to the library's user fault handler
/// (<see cref="UserMemory{TFormat, TFrames, TStore}.HandleFault"/>) on the real MMU. A space is
/// loaded with <see cref="Load"/> (CR3 gets its root); from then on a #PF whose CR2 lies in its
/// user half, or any #PF from ring 3, while CR3 still holds that root, goes to the handler, with
/// the CPU's error code:
/// <code>
///   #PF -> isr stub -> ExceptionDispatcher -> TryHandle
///            resolved (demand-zero, copy-on-write, page-in, ...)  -> iret(q): the access runs again
///            refused (no region, access violation, ...)           -> false: an armed FaultProbe
///                                                                     takes it (the test reads
///                                                                     LastResult), else the report
///   any other fault (reserved bit, no space loaded, a kernel-mode access outside the user
///   half)                                                             -> false, untouched
/// </code>
/// The handler runs on the faulting code's stack (the kernel stack), interrupts off. A fault
/// taken inside the handler is never routed again: it is reported (a bug in the manager).
/// Shared by x86-64 and i386 (the space's format is the kernel's, KernelPagingFormat); on i386
/// the handler reaches HighMem user pages through kmap (LiveUserMemory).
/// </summary>
internal static unsafe class DemandPaging
{
    private const ulong ReservedBitError = 8, UserModeError = 4;

    private static UserMemory<KernelPagingFormat, KernelFrames, RamDiskStore>* s_memory;
    private static AddressSpace<KernelPagingFormat>* s_space;
    private static bool s_inHandler;

    /// <summary>Faults the handler resolved since boot.</summary>
    public static ulong Resolved;
    /// <summary>Faults the handler refused since boot (each was left to a probe or the report).</summary>
    public static ulong Refused;
    /// <summary>The last result the handler gave (resolved or not).</summary>
    public static FaultResult LastResult;
    /// <summary>The #PF error code of the last fault routed to the handler.</summary>
    public static ulong LastErrorCode;
    /// <summary>rdtsc cycles of the last handler call (HandleFault alone, not the trap).</summary>
    public static ulong LastCycles;

    /// <summary>The space faults are routed to (null: none).</summary>
    public static AddressSpace<KernelPagingFormat>* Space => s_space;

    /// <summary>
    /// Loads <paramref name="space"/> of <paramref name="memory"/> into CR3 and routes its user
    /// half's faults to the library; null loads the kernel's own tables and routes nothing.
    /// </summary>
    public static void Load(UserMemory<KernelPagingFormat, KernelFrames, RamDiskStore>* memory, AddressSpace<KernelPagingFormat>* space)
    {
        if (space == null)
        {
            s_space = null;
            s_memory = null;
            KernelAddressSpace.Hooks.WriteCr3(KernelAddressSpace.Mapper.RootPhys);
            return;
        }
        if (!space->IsLive) KernelPanic.Fail("demand paging: load of a space that is not live", (ulong)space);
        s_memory = memory;
        s_space = space;
        KernelAddressSpace.Hooks.WriteCr3(space->RootPhys);
    }

    /// <summary>Called by the dispatcher for every #PF before anything else: true when the
    /// library resolved it (return from the exception: the access is retried).</summary>
    public static bool TryHandle(InterruptFrame* frame, ulong cr2)
    {
        AddressSpace<KernelPagingFormat>* space = s_space;
        if (space == null || s_inHandler || (frame->ErrorCode & ReservedBitError) != 0) return false;
        // A user-mode access anywhere goes to the handler, which refuses (and counts) one outside
        // the user half (no-region below it, kernel-address above); a kernel access there is
        // not a user fault at all.
        bool fromUser = (frame->ErrorCode & UserModeError) != 0;
        if (!fromUser && (cr2 < space->Layout.UserStart || cr2 >= space->Layout.UserEnd)) return false;
        if (KernelAddressSpace.Hooks.ReadCr3() != space->RootPhys) return false;
        s_inHandler = true;
        LastErrorCode = frame->ErrorCode;
        ulong t0 = Arch.Rdtsc();
        FaultResult r = s_memory->HandleFault(space, new PageFault(cr2, (PageFaultErrorCode)(uint)frame->ErrorCode), ref KernelAddressSpace.Hooks);
        LastCycles = Arch.Rdtsc() - t0;
        LastResult = r;
        s_inHandler = false;
        if (r.IsResolved)
        {
            Resolved++;
            return true;
        }
        Refused++;
        return false;
    }

    /// <summary>True when the last fault the handler refused was at <paramref name="cr2"/> (the
    /// report names the result).</summary>
    public static bool RefusedAt(ulong cr2) => s_space != null && !LastResult.IsResolved && LastResult.Address == cr2;
}
