namespace SharpMM.Kernel;

/// <summary>
/// Asks the hardware whether an access is allowed, by making it: one read, write or instruction
/// fetch (the probes in arch/ARCH/arch.S) that may take a page fault. While a probe is armed, a #PF at the
/// probe's own instruction (or, for a fetch, at the probed address) is recorded and the probe
/// returns "faulted" instead of the fault being reported; any other fault is reported as usual.
/// This is how the in-kernel tests check the MMU's view (not present, read-only, no-execute)
/// without ending the run.
/// <code>
///   if (FaultProbe.Read(va, out ulong v)) { ... readable: v holds the value ... }
///   else { FaultProbe.LastCr2, FaultProbe.LastErrorCode describe the #PF }
/// </code>
/// </summary>
internal static unsafe class FaultProbe
{
    private static bool s_armed;
    private static ulong s_execTarget;

    /// <summary>CR2 of the last fault a probe caught.</summary>
    public static ulong LastCr2;
    /// <summary>#PF error code of the last fault a probe caught (P, W/R, U/S, RSVD, I/D).</summary>
    public static ulong LastErrorCode;
    /// <summary>Faults caught by probes since boot.</summary>
    public static ulong Caught;

    /// <summary>Reads 8 bytes at <paramref name="va"/>: true when the read completed.</summary>
    public static bool Read(ulong va, out ulong value)
    {
        ulong v = 0;
        Arm(0);
        int faulted = Arch.ProbeRead(va, &v);
        s_armed = false;
        value = v;
        return faulted == 0;
    }

    /// <summary>Writes 8 bytes at <paramref name="va"/>: true when the write completed.</summary>
    public static bool Write(ulong va, ulong value)
    {
        Arm(0);
        int faulted = Arch.ProbeWrite(va, value);
        s_armed = false;
        return faulted == 0;
    }

    /// <summary>Calls <paramref name="va"/>, which must hold a ret (0xC3) if it is executable:
    /// true when the call returned.</summary>
    public static bool Execute(ulong va)
    {
        Arm(va);
        int faulted = Arch.ProbeExec(va);
        s_armed = false;
        return faulted == 0;
    }

    private static void Arm(ulong execTarget)
    {
        LastCr2 = 0;
        LastErrorCode = 0;
        s_execTarget = execTarget;
        s_armed = true;
    }

    /// <summary>Called by the dispatcher for every #PF: when it belongs to an armed probe,
    /// records it, points the frame at the probe's fixup and returns true (the fault is handled).</summary>
    public static bool TryHandle(InterruptFrame* frame, ulong cr2)
    {
        if (!s_armed || frame->Vector != 14) return false;
        ulong rip = frame->InstructionPointer;
        ulong fixup;
        if (rip == Arch.ProbeReadInsn()) fixup = Arch.ProbeReadFixup();
        else if (rip == Arch.ProbeWriteInsn()) fixup = Arch.ProbeWriteFixup();
        else if (s_execTarget != 0 && rip == s_execTarget) fixup = Arch.ProbeExecFixup();
        else return false;
        s_armed = false;
        LastCr2 = cr2;
        LastErrorCode = frame->ErrorCode;
        Caught++;
        frame->InstructionPointer = fixup;
        return true;
    }
}
