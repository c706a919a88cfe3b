using System.Diagnostics.CodeAnalysis;
using SharpMM.Diagnostics;

namespace SharpMM.Kernel;

/// <summary>
/// The kernel's one way to stop on a broken invariant. Prints
/// <code>
///   panic: MESSAGE              (no value)
///   panic: MESSAGE (0xVALUE)    (with a value, shortest lowercase hex)
/// </code>
/// to the serial port and exits QEMU with <see cref="ExitCode.Panic"/> (status 3). It is
/// installed as the library's panic hook (<see cref="SharpMM.Panic.SetHook"/>) and is also where
/// the corelib's failed checks and the runtime helpers (RhpThrowEx, RhpFallbackFailFast) end up.
/// Where the architecture can walk its frames (i386), a `backtrace:` line follows with the return
/// addresses that led to the panic (kernel/qemu.sh names them). A panic while panicking exits at
/// once, without printing.
/// </summary>
internal static unsafe class KernelPanic
{
    private static bool s_panicking;

    /// <summary>The hook for <see cref="SharpMM.Panic.SetHook"/>: never returns.</summary>
    public static void LibraryHook(string message, ulong value, bool hasValue) => Stop(message, value, hasValue, ExitCode.Panic);

    /// <summary>The hook for <see cref="SharpMM.Panic.SetNamesHook"/>: prints
    /// <c>panic: MESSAGE: FIRST, then SECOND</c> and never returns.</summary>
    public static void NamesHook(string message, string first, string second)
    {
        Arch.Cli();
        if (s_panicking) QemuExit.Exit(ExitCode.Panic);
        s_panicking = true;
        TextWriter<SerialSink> w = Log.Writer();
        w.Line();
        w.Str("panic: ");
        w.Str(message);
        w.Str(": ");
        w.Str(first);
        w.Str(", then ");
        w.Str(second);
        w.Line();
        QemuExit.Exit(ExitCode.Panic);
    }

    /// <summary>Stops with <paramref name="message"/>.</summary>
    [DoesNotReturn]
    public static void Fail(string message) => Stop(message, 0, false, ExitCode.Panic);

    /// <summary>Stops with <paramref name="message"/> and one number.</summary>
    [DoesNotReturn]
    public static void Fail(string message, ulong value) => Stop(message, value, true, ExitCode.Panic);

    /// <summary>Prints the panic line and exits with <paramref name="code"/>.</summary>
    [DoesNotReturn]
    public static void Stop(string message, ulong value, bool hasValue, ExitCode code)
    {
        Arch.Cli();
        if (s_panicking) QemuExit.Exit(code);
        s_panicking = true;
        TextWriter<SerialSink> w = Log.Writer();
        w.Line();
        w.Str("panic: ");
        if ((object)message == null) w.Str("(no message)");
        else w.Str(message);
        if (hasValue)
        {
            w.Str(" (");
            w.Hex(value);
            w.Char(')');
        }
        w.Line();
        if (code == ExitCode.Panic) Platform.WritePanicBacktrace(ref w);
        QemuExit.Exit(code);
    }
}
