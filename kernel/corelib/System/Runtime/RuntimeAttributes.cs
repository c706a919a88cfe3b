namespace System.Runtime
{
    /// <summary>Exports a static method under a fixed symbol name (kmain, Rhp* runtime helpers).</summary>
    [AttributeUsage(AttributeTargets.Method)]
    internal sealed class RuntimeExportAttribute : Attribute
    {
        public RuntimeExportAttribute(string entry) { }
    }

    /// <summary>Binds an <c>extern</c> method to a symbol (assembly helpers, runtime exports).
    /// Use with <c>[MethodImpl(MethodImplOptions.InternalCall)]</c> and library "*".</summary>
    [AttributeUsage(AttributeTargets.Method)]
    internal sealed class RuntimeImportAttribute : Attribute
    {
        public RuntimeImportAttribute(string lib) { }
        public RuntimeImportAttribute(string lib, string entry) { }
    }
}
