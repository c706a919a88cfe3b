using SharpMM.Diagnostics;

namespace SharpMM.Kernel;

/// <summary>
/// The x86 exception vectors by name and the #PF error code decoded, as the exception reports of
/// both x86 kernels (x86-64 and i386) print them.
/// </summary>
internal static class X86Exceptions
{
    private static bool s_reporting;

    /// <summary>
    /// Starts the report of an exception no handler took, the same on both architectures:
    /// <code>
    ///   cpu exception: vector 14 #PF page fault, error=0x... [not-present read supervisor]
    /// </code>
    /// (the error in <paramref name="digits"/> hex digits: 16 on x86-64, 8 on i386). The caller
    /// goes on with its registers. A fault while a report is being written ends the run at once
    /// with a minimal line (printing again would fault again), so the status still says "CPU
    /// exception".
    /// </summary>
    public static TextWriter<SerialSink> BeginReport(ulong vector, ulong errorCode, int digits)
    {
        if (s_reporting)
        {
            Log.Line("cpu exception: nested fault while reporting a previous one");
            QemuExit.Exit(ExitCode.CpuException);
        }
        s_reporting = true;
        TextWriter<SerialSink> w = Log.Writer();
        w.Line();
        w.Str("cpu exception: vector ");
        w.Dec(vector);
        w.Char(' ');
        w.Str(Mnemonic(vector));
        w.Char(' ');
        w.Str(Description(vector));
        w.Str(", error=");
        w.Hex(errorCode, digits);
        if (vector == 14) WritePageFaultError(ref w, errorCode);
        w.Line();
        return w;
    }

    /// <summary>Decodes the #PF error code: P (bit 0), W/R (1), U/S (2), RSVD (3), I/D (4).</summary>
    public static void WritePageFaultError(ref TextWriter<SerialSink> w, ulong error)
    {
        w.Str(" [");
        w.Str((error & 1) != 0 ? "protection" : "not-present");
        w.Str((error & 16) != 0 ? " fetch" : (error & 2) != 0 ? " write" : " read");
        w.Str((error & 4) != 0 ? " user" : " supervisor");
        if ((error & 8) != 0) w.Str(" reserved-bit");
        w.Char(']');
    }

    /// <summary>The architectural mnemonic of a vector ("#PF").</summary>
    public static string Mnemonic(ulong vector) => vector switch
    {
        0 => "#DE", 1 => "#DB", 2 => "NMI", 3 => "#BP", 4 => "#OF", 5 => "#BR", 6 => "#UD", 7 => "#NM",
        8 => "#DF", 9 => "#CSO", 10 => "#TS", 11 => "#NP", 12 => "#SS", 13 => "#GP", 14 => "#PF", 16 => "#MF",
        17 => "#AC", 18 => "#MC", 19 => "#XM", 20 => "#VE", 21 => "#CP", 28 => "#HV", 29 => "#VC", 30 => "#SX",
        _ => "#??",
    };

    /// <summary>A short description of a vector ("page fault").</summary>
    public static string Description(ulong vector) => vector switch
    {
        0 => "divide error", 1 => "debug", 2 => "non-maskable interrupt", 3 => "breakpoint",
        4 => "overflow", 5 => "bound range exceeded", 6 => "invalid opcode", 7 => "device not available",
        8 => "double fault", 9 => "coprocessor segment overrun", 10 => "invalid TSS", 11 => "segment not present",
        12 => "stack-segment fault", 13 => "general protection", 14 => "page fault", 16 => "x87 floating-point error",
        17 => "alignment check", 18 => "machine check", 19 => "SIMD floating-point", 20 => "virtualization",
        21 => "control protection", 28 => "hypervisor injection", 29 => "VMM communication", 30 => "security",
        _ => "reserved",
    };
}
