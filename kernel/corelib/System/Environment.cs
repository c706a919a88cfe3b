using System.Runtime;

namespace System
{
    /// <summary>Process-level services; freestanding only the fatal exit exists.</summary>
    public static class Environment
    {
        /// <summary>Stops the machine with <paramref name="message"/>. The host (the kernel)
        /// provides the exported symbol <c>CorelibFailFast</c>.</summary>
        [System.Diagnostics.CodeAnalysis.DoesNotReturn]
        public static void FailFast(string message)
        {
            CorelibFailFast(message);
            while (true) { }
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.InternalCall)]
        [RuntimeImport("*", "CorelibFailFast")]
        private static extern void CorelibFailFast(string message);
    }
}
