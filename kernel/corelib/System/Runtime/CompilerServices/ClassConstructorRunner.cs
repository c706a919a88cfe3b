namespace System.Runtime.CompilerServices
{
    /// <summary>
    /// Runs a static constructor the first time its type is touched, for the types ilc could not
    /// preinitialise at compile time. Single CPU, no interrupts re-entering managed code during a
    /// cctor: no locking. ilc calls these by name.
    /// </summary>
    internal static unsafe class ClassConstructorRunner
    {
        private static void* CheckStaticClassConstructionReturnNonGCStaticBase(ref StaticClassConstructionContext context, void* nonGcStaticBase)
        {
            CheckStaticClassConstruction(ref context);
            return nonGcStaticBase;
        }

        private static object CheckStaticClassConstructionReturnGCStaticBase(ref StaticClassConstructionContext context, object gcStaticBase)
        {
            CheckStaticClassConstruction(ref context);
            return gcStaticBase;
        }

        private static void CheckStaticClassConstruction(ref StaticClassConstructionContext context)
        {
            nint cctor = context.cctorMethodAddress;
            if (cctor == 0) return;
            context.cctorMethodAddress = 0;
            ((delegate*<void>)cctor)();
        }
    }

    /// <summary>Per-type cctor state laid out by ilc: the cctor's address, zeroed once it has run.</summary>
    public struct StaticClassConstructionContext
    {
        public nint cctorMethodAddress;
    }
}
