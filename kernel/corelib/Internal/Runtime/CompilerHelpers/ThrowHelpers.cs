using System;
using System.Diagnostics.CodeAnalysis;

namespace Internal.Runtime.CompilerHelpers
{
    /// <summary>
    /// Where the code ilc generates goes when a check fails (bounds, overflow, cast...). There are
    /// no exceptions freestanding: each one stops the machine with a message naming the check.
    /// ilc looks these up by name.
    /// </summary>
    internal static class ThrowHelpers
    {
        [DoesNotReturn] internal static void ThrowIndexOutOfRangeException() => Environment.FailFast("index out of range");
        [DoesNotReturn] internal static void ThrowArgumentOutOfRangeException() => Environment.FailFast("argument out of range");
        [DoesNotReturn] internal static void ThrowArgumentException() => Environment.FailFast("bad argument");
        [DoesNotReturn] internal static void ThrowDivideByZeroException() => Environment.FailFast("division by zero");
        [DoesNotReturn] internal static void ThrowOverflowException() => Environment.FailFast("arithmetic overflow");
        [DoesNotReturn] internal static void ThrowNullReferenceException() => Environment.FailFast("null reference");
        [DoesNotReturn] internal static void ThrowInvalidCastException() => Environment.FailFast("invalid cast");
        [DoesNotReturn] internal static void ThrowArrayTypeMismatchException() => Environment.FailFast("array type mismatch");
        [DoesNotReturn] internal static void ThrowPlatformNotSupportedException() => Environment.FailFast("not supported on this platform");
        [DoesNotReturn] internal static void ThrowNotImplementedException() => Environment.FailFast("not implemented");
        [DoesNotReturn] internal static void ThrowTypeLoadException() => Environment.FailFast("type load failure");
        [DoesNotReturn] internal static void ThrowMissingMethodException() => Environment.FailFast("missing method");
        [DoesNotReturn] internal static void ThrowMissingFieldException() => Environment.FailFast("missing field");
        [DoesNotReturn] internal static void ThrowFileNotFoundException() => Environment.FailFast("file not found");
        [DoesNotReturn] internal static void ThrowBadImageFormatException() => Environment.FailFast("bad image format");
        [DoesNotReturn] internal static void ThrowInvalidProgramException() => Environment.FailFast("invalid program");
        [DoesNotReturn] internal static void ThrowInvalidProgramExceptionWithArgument() => Environment.FailFast("invalid program");
        [DoesNotReturn] internal static void ThrowMarshalDirectiveException() => Environment.FailFast("marshal directive");
        [DoesNotReturn] internal static void ThrowAmbiguousMatchException() => Environment.FailFast("ambiguous match");
        [DoesNotReturn] internal static void ThrowFeatureBodyRemoved() => Environment.FailFast("feature body removed");
    }
}
