// asl-validator ships no type declarations; the part the tests call.
declare module "asl-validator" {
  export default function aslValidator(definition: unknown): {
    isValid: boolean;
    errorsText: (separator?: string) => string;
  };
}
