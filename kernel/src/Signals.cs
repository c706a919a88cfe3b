namespace SharpMM.Kernel;

/// <summary>The Linux signal numbers the kernel kills a process with (the same on x86-64 and
/// i386), and their names for the kernel log. No signal is ever delivered to a handler: a
/// process that gets one is killed, and its wait status is the number.</summary>
internal static class Signals
{
    public const int SIGTRAP = 5, SIGILL = 4, SIGBUS = 7, SIGFPE = 8, SIGKILL = 9, SIGSEGV = 11;

    public static string Name(int signal) => signal switch
    {
        SIGILL => "SIGILL",
        SIGTRAP => "SIGTRAP",
        SIGBUS => "SIGBUS",
        SIGFPE => "SIGFPE",
        SIGKILL => "SIGKILL",
        SIGSEGV => "SIGSEGV",
        _ => "signal",
    };

    /// <summary>The signal Linux sends for CPU exception <paramref name="vector"/> taken in ring 3
    /// (other than a page fault): #DE, #MF, #XM SIGFPE; #UD SIGILL; #DB, #BP SIGTRAP; #NP, #SS,
    /// #AC SIGBUS; the rest (#GP, #OF, #BR, ...) SIGSEGV.</summary>
    public static int ForException(ulong vector) => vector switch
    {
        0 or 16 or 19 => SIGFPE,
        6 => SIGILL,
        1 or 3 => SIGTRAP,
        11 or 12 or 17 => SIGBUS,
        _ => SIGSEGV,
    };
}
