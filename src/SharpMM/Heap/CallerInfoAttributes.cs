// The caller-information attributes the heap's public API uses for allocation-site tracking.
// The .NET runtime library defines them; the freestanding corelib (kernel/corelib) does not yet,
// so the library supplies them when it is compiled without the runtime library (the freestanding
// compile defines no NETCOREAPP symbol). The compiler recognises them by name. Remove this file
// if the corelib gains them (the two would then clash in the kernel's single assembly).
#if !NETCOREAPP
namespace System.Runtime.CompilerServices
{
    /// <summary>The compiler passes the caller's source file path (a string literal).</summary>
    [AttributeUsage(AttributeTargets.Parameter, Inherited = false)]
    internal sealed class CallerFilePathAttribute : Attribute { }

    /// <summary>The compiler passes the caller's line number (a constant).</summary>
    [AttributeUsage(AttributeTargets.Parameter, Inherited = false)]
    internal sealed class CallerLineNumberAttribute : Attribute { }
}
#endif
