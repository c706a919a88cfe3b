using System;

namespace SharpMM.Hosted.Machine;

/// <summary>Thrown on the first <see cref="TlbViolation"/> when <see cref="Tlb.PanicOnViolation"/> is set.</summary>
public sealed class StaleTranslationException : Exception
{
    /// <summary>The violation (also recorded in <see cref="Tlb.Violations"/>).</summary>
    public TlbViolation Violation { get; }

    /// <summary>Wraps <paramref name="violation"/>.</summary>
    public StaleTranslationException(TlbViolation violation) : base(violation.ToString()) => Violation = violation;
}
