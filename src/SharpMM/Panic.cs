using System.Diagnostics.CodeAnalysis;

namespace SharpMM;

/// <summary>
/// The single exit for a broken internal invariant. Callers pass a message that names the
/// invariant ("buddy: free-list head has a predecessor") and, where it helps, one number.
/// The host installs the hook once: hosted code throws an exception that tests can assert on;
/// the kernel prints to serial and halts. A hook must not return; if it does, or none is set,
/// the CPU spins here so that nothing runs on broken state.
/// </summary>
public static unsafe class Panic
{
    private static delegate*<string, ulong, bool, void> s_hook;
    private static delegate*<string, string, string, void> s_namesHook;

    /// <summary>Installs the panic hook. Called once at start-up by the host (CLI, tests, kernel).</summary>
    public static void SetHook(delegate*<string, ulong, bool, void> hook) => s_hook = hook;

    /// <summary>Installs the hook for panics that name two things (the lock order's: the lock
    /// held and the lock taken). Without it such a panic prints only its message.</summary>
    public static void SetNamesHook(delegate*<string, string, string, void> hook) => s_namesHook = hook;

    /// <summary>Stops, naming two things (no string formatting exists in the kernel, so the
    /// hook prints the three parts).</summary>
    [DoesNotReturn]
    public static void Fail(string message, string first, string second)
    {
        delegate*<string, string, string, void> hook = s_namesHook;
        if (hook != null) hook(message, first, second);
        Invoke(message, 0, false);
    }

    /// <summary>Stops: an invariant named by <paramref name="message"/> does not hold.</summary>
    [DoesNotReturn]
    public static void Fail(string message)
    {
        Invoke(message, 0, false);
    }

    /// <summary>Stops, reporting one number (an address, a frame number, a count).</summary>
    [DoesNotReturn]
    public static void Fail(string message, ulong value)
    {
        Invoke(message, value, true);
    }

    /// <summary>Panics with <paramref name="message"/> when <paramref name="condition"/> is false.</summary>
    public static void Assert(bool condition, string message)
    {
        if (!condition) Invoke(message, 0, false);
    }

    [DoesNotReturn]
    private static void Invoke(string message, ulong value, bool hasValue)
    {
        delegate*<string, ulong, bool, void> hook = s_hook;
        if (hook != null) hook(message, value, hasValue);
        while (true) { }
    }
}
