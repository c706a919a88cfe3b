using System;

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
    public static void Install() => Panic.SetHook(&Throw);

    private static void Throw(string message, ulong value, bool hasValue)
    {
        throw new PanicException(hasValue ? $"panic: {message} (0x{value:x})" : $"panic: {message}");
    }
}
