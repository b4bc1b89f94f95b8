import * as effectEslint from "@effect/eslint-plugin"
import eslint from "@eslint/js"
import tseslint from "typescript-eslint"

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", ".vitest/**", ".scratch/**"] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  ...effectEslint.configs.dprint,
  {
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      // `{}` is the empty record of tools (`Toolkit<{}>`), and an interface may name a type (`interface Any extends Tool<...>`)
      "@typescript-eslint/no-empty-object-type": ["error", {
        allowObjectTypes: "always",
        allowInterfaces: "with-single-extends"
      }],
      // `pipe() { return pipeArguments(this, arguments) }` is the Pipeable idiom of effect's own modules
      "prefer-rest-params": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "@effect/dprint": ["error", {
        config: {
          indentWidth: 2,
          lineWidth: 120,
          semiColons: "asi",
          quoteStyle: "alwaysDouble",
          trailingCommas: "never",
          operatorPosition: "maintain",
          "arrowFunction.useParentheses": "force"
        }
      }]
    }
  }
)
