namespace System
{
    /// <summary>A value or nothing. ilc boxes it specially; no boxing happens freestanding unless
    /// the code boxes it.</summary>
    public struct Nullable<T> where T : struct
    {
        private readonly bool hasValue;
        internal T value;

        public Nullable(T value) { this.value = value; hasValue = true; }

        public readonly bool HasValue => hasValue;

        /// <summary>The value; panics when there is none.</summary>
        public readonly T Value
        {
            get
            {
                if (!hasValue) Environment.FailFast("Nullable: no value");
                return value;
            }
        }

        public readonly T GetValueOrDefault() => value;
        public readonly T GetValueOrDefault(T defaultValue) => hasValue ? value : defaultValue;

        public static implicit operator T?(T value) => new T?(value);
        public static explicit operator T(T? value) => value.Value;
    }
}
