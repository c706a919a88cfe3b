using System;
using SharpMM.Concurrency;

namespace SharpMM.Hosted;

/// <summary>A library invariant broke; the message names it.</summary>
public sealed class PanicException : Exception
{
    /// <summary>Creates the exception.</summary>
    public PanicException(string message) : base(message) { }
}

/// <summary>Installs the hosted panic hook: throw <see cref="PanicException"/>.</summary>
public static unsafe class HostedPanic
{
    /// <summary>Idempotent; every hosted entry point (CLI, tests, benchmarks) calls it.</summary>
    public static void Install()
    {
        Panic.SetHook(&Throw);
        Panic.SetNamesHook(&ThrowNamed);
        HostedCpus.Install();
    }

    private static void ThrowNamed(string message, string first, string second)
    {
        LockOrder.ForgetHeld();
        throw new PanicException($"panic: {message}: {first}, then {second}");
    }

    private static void Throw(string message, ulong value, bool hasValue)
    {
        // The exception unwinds through lock holders without releasing them: the machine that
        // panicked is abandoned, and so is this thread's list of the locks it held.
        LockOrder.ForgetHeld();
        throw new PanicException(hasValue ? $"panic: {message} (0x{value:x})" : $"panic: {message}");
    }
}
